import { createTheme } from '@mantine/core';

// Shade 8 of blue on white is 5.0:1 (WCAG AA for normal text); Mantine's default shade 6 is 3.5:1.
export const theme = createTheme({
  primaryColor: 'blue',
  primaryShade: { light: 8, dark: 5 },
  defaultRadius: 'sm',
  fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
});
