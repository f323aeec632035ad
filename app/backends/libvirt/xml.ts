// A small, strict XML reader for libvirt's own output (domain XML): elements, attributes, text.
// Not a general parser (no DTDs, no namespaces); anything not well-formed is rejected, never guessed.

export interface XmlElement {
  name: string;
  attributes: Readonly<Record<string, string>>;
  children: XmlElement[];
  /** Concatenated character data directly inside this element, entities decoded. */
  text: string;
}

export class XmlSyntaxError extends Error {
  constructor(message: string, readonly offset: number) {
    super(`${message} at offset ${offset}`);
    this.name = 'XmlSyntaxError';
  }
}

const NAME = /[A-Za-z_:][-A-Za-z0-9_:.]*/y;
const ATTRIBUTE = /\s+([A-Za-z_:][-A-Za-z0-9_:.]*)\s*=\s*(?:'([^'<]*)'|"([^"<]*)")/y;
const ENTITY = /&(?:(lt|gt|amp|quot|apos)|#([0-9]{1,7})|#x([0-9a-fA-F]{1,6}));/g;
const NAMED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

const BARE_AMPERSAND = /&(?!(?:lt|gt|amp|quot|apos|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});)/;

function decode(raw: string, offset: number): string {
  if (raw.includes('<')) throw new XmlSyntaxError('"<" inside a value', offset);
  if (BARE_AMPERSAND.test(raw)) throw new XmlSyntaxError('bare "&" or unknown entity', offset);
  return raw.replace(ENTITY, (_m, named: string | undefined, dec: string | undefined, hex: string | undefined) => {
    if (named) return NAMED[named] ?? '';
    const code = dec !== undefined ? Number(dec) : parseInt(hex ?? '', 16);
    if (code > 0x10ffff) throw new XmlSyntaxError('character reference out of range', offset);
    return String.fromCodePoint(code);
  });
}

/** Parses one XML document and returns its root element. */
export function parseXml(source: string): XmlElement {
  let pos = 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | null = null;

  const skipUntil = (terminator: string, what: string) => {
    const end = source.indexOf(terminator, pos);
    if (end < 0) throw new XmlSyntaxError(`unterminated ${what}`, pos);
    pos = end + terminator.length;
  };

  while (pos < source.length) {
    const lt = source.indexOf('<', pos);
    const textEnd = lt < 0 ? source.length : lt;
    if (textEnd > pos) {
      const raw = source.slice(pos, textEnd);
      const parent = stack[stack.length - 1];
      if (parent) parent.text += decode(raw, pos);
      else if (raw.trim() !== '') throw new XmlSyntaxError('text outside the root element', pos);
      pos = textEnd;
      continue;
    }
    if (source.startsWith('<?', pos)) { skipUntil('?>', 'processing instruction'); continue; }
    if (source.startsWith('<!--', pos)) { skipUntil('-->', 'comment'); continue; }
    if (source.startsWith('<![CDATA[', pos)) {
      const start = pos + 9;
      skipUntil(']]>', 'CDATA section');
      const parent = stack[stack.length - 1];
      if (!parent) throw new XmlSyntaxError('CDATA outside the root element', start);
      parent.text += source.slice(start, pos - 3);
      continue;
    }
    if (source.startsWith('<!', pos)) throw new XmlSyntaxError('DTDs are not accepted', pos);
    if (source.startsWith('</', pos)) {
      NAME.lastIndex = pos + 2;
      const m = NAME.exec(source);
      const open = stack.pop();
      if (!m || !open || m[0] !== open.name) throw new XmlSyntaxError(`unexpected closing tag${m ? ` </${m[0]}>` : ''}`, pos);
      pos = NAME.lastIndex;
      const close = /\s*>/y;
      close.lastIndex = pos;
      if (!close.exec(source)) throw new XmlSyntaxError(`malformed closing tag </${open.name}>`, pos);
      pos = close.lastIndex;
      continue;
    }
    NAME.lastIndex = pos + 1;
    const m = NAME.exec(source);
    if (!m) throw new XmlSyntaxError('malformed tag', pos);
    pos = NAME.lastIndex;
    const attributes: Record<string, string> = {};
    for (;;) {
      ATTRIBUTE.lastIndex = pos;
      const a = ATTRIBUTE.exec(source);
      if (!a) break;
      const [, key = '', single, double] = a;
      if (Object.hasOwn(attributes, key)) throw new XmlSyntaxError(`duplicate attribute ${key}`, pos);
      attributes[key] = decode(single ?? double ?? '', pos);
      pos = ATTRIBUTE.lastIndex;
    }
    const end = /\s*(\/?)>/y;
    end.lastIndex = pos;
    const e = end.exec(source);
    if (!e) throw new XmlSyntaxError(`malformed tag <${m[0]}>`, pos);
    pos = end.lastIndex;
    const element: XmlElement = { name: m[0], attributes, children: [], text: '' };
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push(element);
    else if (root) throw new XmlSyntaxError('more than one root element', pos);
    else root = element;
    if (e[1] !== '/') stack.push(element);
  }
  const unclosed = stack[stack.length - 1];
  if (unclosed) throw new XmlSyntaxError(`element <${unclosed.name}> is not closed`, pos);
  if (!root) throw new XmlSyntaxError('no root element', pos);
  return root;
}

export function child(element: XmlElement, name: string): XmlElement | undefined {
  return element.children.find((c) => c.name === name);
}

export function children(element: XmlElement, name: string): XmlElement[] {
  return element.children.filter((c) => c.name === name);
}

/** Escapes a value for a single- or double-quoted XML attribute or for text. */
export function escapeXml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? c);
}
