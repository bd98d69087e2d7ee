/**
 * What a route requires, declared once in its `config.auth` and enforced by the auth hook; the
 * OpenAPI security section and the route-walk test read the same declaration.
 */
export type RouteAuth =
  | { public: true }
  | {
      public?: false;
      /** Every listed scope is required. */
      scopes?: readonly string[];
      /** One of these roles is required (checked in addition to scopes). */
      roles?: readonly string[];
      /** Which credentials the route takes: bearer (default) or HTTP Basic (G2P face). */
      scheme?: 'bearer' | 'basic';
    };

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuth;
    /** Audit calls to this public route too (token endpoints). */
    auditPublic?: boolean;
  }
}
