// What the server wrote into the room page it served (PageBoot: who this is, the router's
// capabilities, whether the notices are accepted), read by the entry script and the room flow.
import { PAGE_BOOT_ELEMENT_ID, type PageBoot } from '../../shared/api.ts';

/** The PageBoot in this page, if it is for this participant. */
export function pageBoot(participantId: string): PageBoot | null {
  const text = document.getElementById(PAGE_BOOT_ELEMENT_ID)?.textContent;
  if (!text) return null;
  try {
    const boot = JSON.parse(text) as PageBoot;
    return boot.me?.participantId === participantId ? boot : null;
  } catch {
    return null;
  }
}
