/** The verified caller of a request with a bearer token. */
export interface Principal {
  userId: string;
  organizationId: string;
  sessionId: string;
  email: string;
  isSuperadmin: boolean;
  /** What the user's roles grant: read with the session, cached only until a role change invalidates it. */
  permissions: ReadonlySet<string>;
}
