// What this browser can do that the studio needs: peer connections, camera and microphone
// access, WebAudio (level meter, speaker tone), and the VP8 and Opus codecs the SFU uses.
import type { BrowserFeature } from '../../shared/prejoin.ts';

export interface BrowserSupport {
  name: string;
  version: string;
  missing: BrowserFeature[];
}

function hasCodec(kind: 'audio' | 'video', mimeType: string): boolean {
  try {
    const codecs = globalThis.RTCRtpSender?.getCapabilities?.(kind)?.codecs ?? [];
    return codecs.some((c) => c.mimeType.toLowerCase() === mimeType);
  } catch {
    return false;
  }
}

/** Browser name and major version from the user agent (Edge and Opera before Chrome). */
export function browserName(ua: string = navigator.userAgent): { name: string; version: string } {
  const patterns: Array<[string, RegExp]> = [
    ['Edge', /Edg\/(\d+)/],
    ['Opera', /OPR\/(\d+)/],
    ['Firefox', /Firefox\/(\d+)/],
    ['Chrome', /Chrom(?:e|ium)\/(\d+)/],
    ['Safari', /Version\/(\d+)[.\d]* .*Safari/],
  ];
  for (const [name, pattern] of patterns) {
    const match = pattern.exec(ua);
    if (match) return { name, version: match[1] ?? '' };
  }
  return { name: 'Unknown browser', version: '' };
}

export function checkBrowser(): BrowserSupport {
  const missing: BrowserFeature[] = [];
  if (typeof globalThis.RTCPeerConnection !== 'function') missing.push('RTCPeerConnection');
  if (typeof navigator.mediaDevices?.getUserMedia !== 'function') missing.push('getUserMedia');
  if (typeof globalThis.AudioContext !== 'function') missing.push('WebAudio');
  if (!hasCodec('video', 'video/vp8')) missing.push('VP8');
  if (!hasCodec('audio', 'audio/opus')) missing.push('Opus');
  return { ...browserName(), missing };
}
