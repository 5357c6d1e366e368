import fc from 'fast-check';

/**
 * Text that has broken services before, by name: the name becomes the label of a fuzz case, so
 * a failure says what kind of content caused it. Each is short enough to fit most length limits.
 */
export const HOSTILE_STRINGS: Record<string, string> = {
  'NUL byte': 'fuzz\u0000nul',
  'C0 control characters': 'a\u0001\u0007\b\u000b\f\u001b[31m\u007fz',
  'CR LF injection': 'line\r\nX-Injected: yes',
  'C1 controls and bidi override': '\u0085\u009b\u202egnp.exe',
  'zero-width characters and BOM': '\u200b\u200d\ufeff\u2060x',
  'emoji ZWJ sequences': '👩‍👩‍👧‍👦🏳️‍🌈🧪',
  'combining marks': 'Z\u0334\u0321\u0326a\u0311\u0338l\u0337g\u0335o',
  'CJK and right-to-left scripts': '日本語テキスト עברית العربية',
  'lone surrogates': '\ud800x\udfff',
  'Unicode noncharacters': '\uffff\ufffe\u{10ffff}',
  'SQL injection': "' OR '1'='1'; DROP TABLE users; --",
  'SQL LIKE wildcards': '%_\\%_',
  'script tag': '<script>alert(1)</script>',
  'HTML attribute break-out': '"><img src=x onerror=alert(1)>',
  'template expressions': '{{7*7}}${7*7}#{7*7}',
  'XML external entity': '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
  'path traversal': '../../../../etc/passwd',
  'format specifiers': '%s%s%n%x%d',
  'JSON operator object in text': '{"$gt":""}',
  'quotes and backslashes': '\\"\'`\\\\',
  'whitespace only': ' \t\u00a0\u3000 ',
  'very long (20,000 characters)': 'x'.repeat(20_000),
};

export interface LabelledString {
  text: string;
  label: string;
}

/** One hostile string with its label; a few are random code points (any plane, controls included). */
export const hostileString: fc.Arbitrary<LabelledString> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...Object.entries(HOSTILE_STRINGS)).map(([label, text]) => ({ label, text })) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }).map((text) => ({ label: 'random code points', text })) },
);
