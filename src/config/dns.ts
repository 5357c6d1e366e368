import { isIP } from 'node:net';

export interface DnsConfig {
  /** The resolvers the domain verification asks, as `setServers` takes them; null uses the system's. */
  servers: string[] | null;
  /** How long one query waits for an answer before it is retried once, then given up. */
  timeoutMs: number;
}

const WITH_PORT = /^(?:\[(?<v6>[^\]]+)\]|(?<v4>[^:]+)):(?<port>\d{1,5})$/;

/** An IP address, `v4:port` or `[v6]:port`, as `setServers` takes them: a resolver cannot be named by a host name. */
function isServer(entry: string): boolean {
  if (isIP(entry) !== 0) return true;
  const groups = WITH_PORT.exec(entry)?.groups;
  if (!groups) return false;
  const port = Number(groups.port);
  return (groups.v6 !== undefined ? isIP(groups.v6) === 6 : isIP(groups.v4 ?? '') === 4) && port >= 1 && port <= 65535;
}

/** DNS_SERVERS: comma-separated resolvers; unset or empty means the system's (/etc/resolv.conf). */
export function parseDnsServers(raw: string | undefined, problems: string[]): string[] | null {
  const entries = (raw ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.length === 0) return null;
  const invalid = entries.filter((entry) => !isServer(entry));
  if (invalid.length > 0) {
    problems.push(`DNS_SERVERS must list IP addresses with optional ports, like 1.1.1.1,8.8.8.8:53,[2606:4700::1111]:53 (not valid: ${invalid.join(', ')})`);
  }
  return entries;
}
