import { ReportingInputError } from '../errors';

/** An XML element: children are rendered in array order (which is how XSD order is kept). */
export interface XmlElement {
  name: string;
  attrs?: Record<string, string>;
  children?: XmlElement[];
  text?: string;
}

/** Builds an element; `undefined` / `false` children are skipped so optional elements read naturally. */
export function el(
  name: string,
  content?: string | number | boolean | ReadonlyArray<XmlElement | undefined | false>,
  attrs?: Record<string, string | undefined>,
): XmlElement {
  const cleanAttrs: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrs ?? {})) if (v !== undefined) cleanAttrs[k] = v;
  const node: XmlElement = { name, ...(Object.keys(cleanAttrs).length ? { attrs: cleanAttrs } : {}) };
  if (content === undefined) return node;
  if (Array.isArray(content)) return { ...node, children: content.filter((c): c is XmlElement => !!c) };
  return { ...node, text: String(content) };
}

// Characters XML 1.0 allows: tab, LF, CR, and U+0020..U+D7FF, U+E000..U+FFFD, U+10000..U+10FFFF.
const INVALID_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

function check(s: string, where: string): void {
  if (INVALID_XML_CHAR.test(s)) throw new ReportingInputError('xml_invalid_char', `${where} contains a character XML 1.0 does not allow`);
}

/** Escapes text content (`&`, `<`, `>`). @throws ReportingInputError `xml_invalid_char` */
export function escapeXmlText(s: string): string {
  check(s, 'text');
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Escapes an attribute value (also quotes and whitespace that attribute normalisation would eat). */
export function escapeXmlAttr(s: string): string {
  check(s, 'attribute');
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/\t/g, '&#x9;')
    .replace(/\n/g, '&#xA;')
    .replace(/\r/g, '&#xD;');
}

function render(node: XmlElement, out: string[]): void {
  if (!NAME.test(node.name)) throw new ReportingInputError('xml_invalid_char', `invalid element name ${JSON.stringify(node.name)}`);
  out.push('<', node.name);
  for (const [k, v] of Object.entries(node.attrs ?? {})) {
    if (!NAME.test(k)) throw new ReportingInputError('xml_invalid_char', `invalid attribute name ${JSON.stringify(k)}`);
    out.push(' ', k, '="', escapeXmlAttr(v), '"');
  }
  const kids = node.children ?? [];
  if (kids.length === 0 && node.text === undefined) {
    out.push('/>');
    return;
  }
  out.push('>');
  if (node.text !== undefined) out.push(escapeXmlText(node.text));
  for (const k of kids) render(k, out);
  out.push('</', node.name, '>');
}

/** Serialises an element tree as a UTF-8 XML document with declaration. */
export function renderXml(root: XmlElement): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>\n'];
  render(root, out);
  return out.join('');
}
