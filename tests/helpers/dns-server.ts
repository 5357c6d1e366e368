import dns2 from 'dns2';

const { Packet } = dns2;
const RCODE = { serverFailure: 2, nameError: 3 } as const;

export interface TestDnsServer {
  /** The service settings that make it ask this server (DNS_SERVERS). */
  env: Record<string, string>;
  /** Publishes TXT records at `name`: each record a string, or its character-strings (a long value split as DNS splits it). */
  publishTxt(name: string, ...records: (string | string[])[]): void;
  /** Answers SERVFAIL for `name`, as a broken authoritative server makes a resolver do. */
  failFor(name: string): void;
  close(): Promise<void>;
}

/**
 * A real DNS server (dns2) on a free loopback UDP port, authoritative for what a test publishes:
 * a name with records answers them, a name with none answers NXDOMAIN.
 */
export async function startDnsServer(): Promise<TestDnsServer> {
  const txt = new Map<string, (string | string[])[]>();
  const failing = new Set<string>();
  const server = dns2.createServer({
    udp: { type: 'udp4' },
    handle: (request, send) => {
      const response = Packet.createResponseFromRequest(request);
      const header = response.header as { rcode?: number };
      for (const question of request.questions) {
        const name = question.name.toLowerCase();
        if (failing.has(name)) header.rcode = RCODE.serverFailure;
        else if (!txt.has(name)) header.rcode = RCODE.nameError;
        else if (question.type === Packet.TYPE.TXT) {
          for (const data of txt.get(name) ?? []) response.answers.push({ name: question.name, type: Packet.TYPE.TXT, class: Packet.CLASS.IN, ttl: 1, data } as never);
        }
      }
      void send(response);
    },
  });
  await server.listen({ udp: { port: 0, address: '127.0.0.1' } });
  const port = server.addresses().udp?.port;
  if (!port) throw new Error('dns2 has no UDP port');
  return {
    env: { DNS_SERVERS: `127.0.0.1:${port}` },
    publishTxt: (name, ...records) => txt.set(name.toLowerCase(), [...(txt.get(name.toLowerCase()) ?? []), ...records]),
    failFor: (name) => failing.add(name.toLowerCase()),
    close: () => server.close(),
  };
}
