/** The verified caller of a request with a bearer token. */
export interface Principal {
  userId: string;
  organizationId: string;
  sessionId: string;
  email: string;
  isSuperadmin: boolean;
  /** What the user's roles grant, read on every request so role changes apply at once. */
  permissions: ReadonlySet<string>;
}
