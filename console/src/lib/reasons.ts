// The API's reason-code lists, bundled from the server's own module: the API refuses any other code.
export {
  CONSENT_REJECTION_REASONS,
  GENERIC_REASON_CODES,
} from '../../../src/vocabulary/reason-code-lists';
