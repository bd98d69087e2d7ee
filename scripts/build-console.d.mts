export function consoleNeedsBuild(): boolean;
export function ensureConsoleBuilt(): void;
