// Copying invite links: the Clipboard API where the browser allows it (secure context, user
// gesture); otherwise the text is selected so the coordinator can press Ctrl+C / ⌘C.

/** Selects the text of `element` (an input/textarea, or any element's text). */
export function selectText(element: HTMLElement): void {
  if (element instanceof HTMLInputElement || element instanceof HTMLTextAreaElement) {
    element.focus();
    element.select();
    return;
  }
  const selection = window.getSelection();
  if (!selection) return;
  const range = document.createRange();
  range.selectNodeContents(element);
  selection.removeAllRanges();
  selection.addRange(range);
}

/** 'copied' when the text is on the clipboard; 'selected' when it was only selected. */
export async function copyText(text: string, fallbackElement: HTMLElement | null): Promise<'copied' | 'selected'> {
  try {
    if (!navigator.clipboard?.writeText) throw new Error('no clipboard API');
    await navigator.clipboard.writeText(text);
    return 'copied';
  } catch {
    if (fallbackElement) selectText(fallbackElement);
    return 'selected';
  }
}
