import fc from 'fast-check';

/** What the fuzzer knows of one JSON Schema `format`. */
export interface FormatValues {
  valid: fc.Arbitrary<string>;
  /** Valid but unusual values, by label: the edges a parser or a database column may not expect. */
  edges: Record<string, string>;
  /** Values that almost have the format, by label. */
  nearMisses: Record<string, string>;
  /** A valid value exactly `length` code points long, when the format can be padded. */
  ofLength?: (length: number) => string | undefined;
}

const SAMPLE_UUID = '6f1c2a9e-3b7d-4c1a-9e8f-2d4b5a6c7e80';

const uuid: FormatValues = {
  valid: fc.uuid(),
  edges: {
    'nil UUID': '00000000-0000-0000-0000-000000000000',
    'max UUID': 'ffffffff-ffff-ffff-ffff-ffffffffffff',
    'upper-case UUID': SAMPLE_UUID.toUpperCase(),
    'urn:uuid: form': `urn:uuid:${SAMPLE_UUID}`,
  },
  nearMisses: {
    'not a UUID': 'not-a-uuid',
    'UUID without dashes': SAMPLE_UUID.replace(/-/g, ''),
    'UUID with a trailing character': `${SAMPLE_UUID}0`,
    'braced UUID': `{${SAMPLE_UUID}}`,
    'UUID with a non-hex digit': `${SAMPLE_UUID.slice(0, -1)}g`,
    'truncated UUID': SAMPLE_UUID.slice(0, 20),
    'UUID in spaces': ` ${SAMPLE_UUID} `,
    'integer id': '1',
    'empty string': '',
  },
};

const simpleEmail = fc.tuple(fc.stringMatching(/^[a-z][a-z0-9]{0,15}$/), fc.uuid(), fc.domain()).map(([name, id, domain]) => `${name}.${id.slice(0, 8)}@${domain}`);

const email: FormatValues = {
  valid: fc.oneof({ weight: 3, arbitrary: simpleEmail }, { weight: 1, arbitrary: fc.emailAddress() }),
  edges: {
    'shortest email': 'a@b.co',
    'upper-case email': 'GRACE.HOPPER@EXAMPLE.COM',
    'plus-addressed email': 'grace+fuzz@example.com',
    'punycode domain': 'grace@xn--bcher-kva.example',
    'every special local-part character': "o'hara!#$%&*+/=?^_`{|}~-@example.com",
  },
  nearMisses: {
    'no @': 'grace.example.com',
    'two @': 'grace@hopper@example.com',
    'dotless domain': 'grace@localhost',
    'trailing dot': 'grace@example.com.',
    'space in local part': 'grace hopper@example.com',
    'quoted local part': '"grace"@example.com',
    'non-ASCII local part': 'grâce@example.com',
    'IP literal domain': 'grace@[127.0.0.1]',
    'empty string': '',
  },
  ofLength: (length) => (length >= 13 ? `${'a'.repeat(length - 12)}@example.com` : undefined),
};

const uri: FormatValues = {
  valid: fc.webUrl({ withQueryParameters: true }),
  edges: {
    'shortest URL': 'http://a.bc',
    'URL with port 65535': 'https://example.com:65535/',
    'URL with credentials': 'https://user:secret@example.com/',
    'IPv6 host': 'http://[::1]:8080/x',
    'URL with query and fragment': 'https://example.com/a?b=c&d=%00#frag',
    'localhost URL': 'http://localhost/',
  },
  nearMisses: {
    'no scheme': 'example.com/path',
    'javascript: URL': 'javascript:alert(1)',
    'data: URL': 'data:text/html,<script>alert(1)</script>',
    'file: URL': 'file:///etc/passwd',
    'space in host': 'http://exa mple.com/',
    'relative reference': '/relative/path',
    'scheme only': 'https://',
    'non-ASCII host': 'https://例え.jp/',
    'empty string': '',
  },
  ofLength: (length) => (length >= 21 ? `https://example.com/${'a'.repeat(length - 20)}` : undefined),
};

const dateTime: FormatValues = {
  valid: fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).map((date) => date.toISOString()),
  edges: {
    'year 0000': '0000-01-01T00:00:00Z',
    'year 9999': '9999-12-31T23:59:59.999Z',
    'leap second': '2016-12-31T23:59:60Z',
    'offset +14:00': '2024-01-01T00:00:00+14:00',
    'offset -23:59': '2024-01-01T00:00:00-23:59',
    'nanosecond fraction': '2024-02-29T12:00:00.123456789Z',
    'lower-case t and z': '2024-01-01t00:00:00z',
    'Unix epoch': '1970-01-01T00:00:00Z',
  },
  nearMisses: {
    'date only': '2024-01-01',
    'no time zone': '2024-01-01T00:00:00',
    'month 13': '2024-13-01T00:00:00Z',
    'February 30': '2024-02-30T00:00:00Z',
    'hour 24': '2024-01-01T24:00:00Z',
    'Unix timestamp': '1700000000',
    'year 10000': '10000-01-01T00:00:00Z',
    words: 'yesterday',
    'empty string': '',
  },
};

const FORMATS: Record<string, FormatValues> = { uuid, email, uri, 'date-time': dateTime };

export function formatValues(format: string): FormatValues {
  const values = FORMATS[format];
  if (!values) throw new Error(`schema-formats does not know the format "${format}" yet: add it before fuzzing this schema`);
  return values;
}
