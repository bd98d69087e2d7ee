import {
  createTheme,
  FileInput,
  MultiSelect,
  NativeSelect,
  PasswordInput,
  Textarea,
  TextInput,
} from '@mantine/core';

// Mantine's required asterisk becomes part of the accessible name ("Username *"): inputs carry
// the required attribute instead, which assistive technology announces.
const noAsterisk = { defaultProps: { withAsterisk: false } };

// Shade 8 of blue on white is 5.0:1 (WCAG AA for normal text); Mantine's default shade 6 is 3.5:1.
export const theme = createTheme({
  primaryColor: 'blue',
  primaryShade: { light: 8, dark: 5 },
  defaultRadius: 'sm',
  fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
  components: {
    TextInput: TextInput.extend(noAsterisk),
    PasswordInput: PasswordInput.extend(noAsterisk),
    NativeSelect: NativeSelect.extend(noAsterisk),
    FileInput: FileInput.extend(noAsterisk),
    MultiSelect: MultiSelect.extend(noAsterisk),
    Textarea: Textarea.extend(noAsterisk),
  },
});
