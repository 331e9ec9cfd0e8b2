// Scenario texts rendered from markdown, safely. Its own chunk (markdown-it is ~100 kB):
// Markdown.svelte loads it when a text is first shown.
import MarkdownIt from 'markdown-it';

// html: false escapes raw HTML in the source (no script or style injection); markdown-it's
// own link check refuses javascript:, vbscript:, file: and most data: URLs.
const md = new MarkdownIt({ html: false, linkify: false, typographer: true, breaks: false });

// Links open in a new tab so that nobody leaves a running assessment by accident.
const defaultLinkOpen =
  md.renderer.rules.link_open ?? ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  const token = tokens[idx];
  if (token) {
    token.attrSet('target', '_blank');
    token.attrSet('rel', 'noopener noreferrer');
  }
  return defaultLinkOpen(tokens, idx, options, env, self);
};

export function renderMarkdown(source: string): string {
  return md.render(source);
}
