// Plain text of a written exercise document (for the frozen snapshot, word counts and limits).
import * as Y from 'yjs';

function textOf(node: Y.XmlElement | Y.XmlText | Y.XmlHook): string {
  if (node instanceof Y.XmlText) {
    return (node.toDelta() as Array<{ insert: unknown }>).map((op) => (typeof op.insert === 'string' ? op.insert : '')).join('');
  }
  if (node instanceof Y.XmlElement) {
    const children = node.toArray() as Array<Y.XmlElement | Y.XmlText>;
    const blocks = children.some((c) => c instanceof Y.XmlElement);
    return children.map(textOf).join(blocks ? '\n' : '');
  }
  return '';
}

/** Blocks (paragraphs, headings, list items) become lines. */
export function plainText(fragment: Y.XmlFragment): string {
  return (fragment.toArray() as Array<Y.XmlElement | Y.XmlText>).map(textOf).join('\n');
}

export function wordCount(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}
