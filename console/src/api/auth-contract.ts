// The browser-session routes of issue 15 (users and sessions), typed from their agreed contract
// until they appear in client/schema.d.ts; then the generated paths take over.

export interface SessionUser {
  id: string;
  username: string;
  display_name: string | null;
  tenant_id: string | null;
  tenant_code: string | null;
  roles: string[];
  scopes: string[];
  verticals: string[] | null;
  is_root: boolean;
}

export interface SessionBody {
  user: SessionUser;
  csrf_token: string;
  expires_at: string;
  idle_expires_at: string;
}

export interface Providers {
  local: boolean;
  oidc: null | { name: string; login_url: string };
}

type Json<T> = { headers: { [name: string]: unknown }; content: { 'application/json': T } };
type Problem = { headers: { [name: string]: unknown }; content: { 'application/problem+json': unknown } };
type NoParams = { query?: never; header?: never; path?: never; cookie?: never };
type Op<Res, Body = never> = {
  parameters: NoParams;
  requestBody?: [Body] extends [never] ? never : { content: { 'application/json': Body } };
  responses: Res;
};
type Path<Ops> = { parameters: NoParams } & Ops;

export interface AuthPaths {
  '/auth/providers': Path<{ get: Op<{ 200: Json<Providers> }> }>;
  '/auth/login': Path<{
    post: {
      parameters: NoParams;
      requestBody: { content: { 'application/json': { username: string; password: string; totp?: string } } };
      responses: { 200: Json<SessionBody>; 401: Problem; 429: Problem };
    };
  }>;
  '/auth/session': Path<{ get: Op<{ 200: Json<SessionBody>; 401: Problem }> }>;
  '/auth/logout': Path<{ post: Op<{ 204: { headers: { [name: string]: unknown }; content?: never } }> }>;
}
