/** Who did it and from where: carried from the HTTP edge into the services. */
export interface RequestMeta {
  requestId: string;
  ip: string | null;
  userAgent: string | null;
}
