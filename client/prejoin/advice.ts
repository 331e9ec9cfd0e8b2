// What to do when a step of the test call fails, in words for someone who is not technical.
import type { BrowserFeature, PrejoinStep } from '../../shared/prejoin.ts';

export interface Advice {
  title: string;
  steps: string[];
}

export const SPEAKER_ADVICE: Advice = {
  title: 'You could not hear the test sound',
  steps: [
    'Turn up the volume on your computer (and on your speakers or headset, if they have a knob or buttons).',
    'Check that the sound is not muted: look for a speaker icon with a line through it at the bottom or top of your screen.',
    'If you use headphones or a headset, check that they are plugged in (or connected by Bluetooth) and worn.',
    'In your computer’s sound settings, choose the speakers or headset you want to use as the output.',
    'Press “Play the sound again” to listen once more; when you hear it, press “Run the test call again”.',
  ],
};

export function browserAdvice(missing: readonly BrowserFeature[]): Advice {
  return {
    title: 'This browser cannot run video calls with SimStudio',
    steps: [
      'Open your invite link in an up-to-date Chrome, Edge, Firefox or Safari.',
      'If you already use one of these, update it (in its menu: Help → About) and restart it.',
      `(Missing here: ${missing.join(', ')}.)`,
    ],
  };
}

export const CONNECTION_ADVICE: Advice = {
  title: 'Your computer could not connect to the video server',
  steps: [
    'Check that you are connected to the internet (open any website).',
    'If you are on a work, hospital or council network, it may block video calls: try your home Wi-Fi, or a mobile hotspot from your phone.',
    'Switch off any VPN, then press “Run the test call again”.',
    'If it still fails, contact the help line below and tell them “the connection step failed”.',
  ],
};

export const SLOW_ADVICE: Advice = {
  title: 'Your connection is slow',
  steps: [
    'Close other programs and browser tabs, especially anything streaming video or uploading files.',
    'Ask others at home not to stream or download during your assessment.',
    'Move nearer your Wi-Fi router, or connect your computer to it with a cable.',
    'Then press “Run the test call again”.',
  ],
};

export const DEVICE_ADVICE: Record<'camera' | 'microphone', Advice> = {
  camera: {
    title: 'Your camera is not working yet',
    steps: ['Follow the steps shown next to the camera preview above, then press “Run the test call again”.'],
  },
  microphone: {
    title: 'Your microphone is not working yet',
    steps: [
      'Follow the steps shown next to the camera preview above.',
      'If the microphone level bar does not move when you speak, choose another microphone in the list.',
      'Then press “Run the test call again”.',
    ],
  },
};

export const STEP_TITLES: Record<PrejoinStep, string> = {
  browser: 'Browser',
  camera: 'Camera',
  microphone: 'Microphone',
  speakers: 'Speakers',
  connection: 'Connection to the video server',
};
