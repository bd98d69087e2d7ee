import type { paths } from '../../../client/index';

// Types of the browser-session routes (issue 15), taken from the generated OpenAPI types.
export type SessionBody = paths['/auth/session']['get']['responses'][200]['content']['application/json'];
export type SessionUser = SessionBody['user'];
export type Providers = paths['/auth/providers']['get']['responses'][200]['content']['application/json'];
