// The mediasoup Device a page sends and receives with. Device.load asks the browser for its
// receiving and for its sending capabilities, each through a peer connection of its own; a page
// that only watches (observers, moderators, the coordinator) needs only the first, and on a busy
// machine the second costs tens of milliseconds on the way to the first picture. So such a page
// loads a receive-only device, and a second, full one only if it ever has to send (the lead
// observer in the reflective conversation).
import { Device, detectDeviceAsync } from 'mediasoup-client';
import { Chrome111 } from 'mediasoup-client/handlers/Chrome111';
import { Chrome74 } from 'mediasoup-client/handlers/Chrome74';
import { Firefox120 } from 'mediasoup-client/handlers/Firefox120';
import { Safari12 } from 'mediasoup-client/handlers/Safari12';
import type { HandlerFactory } from 'mediasoup-client/handlers/HandlerInterface';
import type { RtpCapabilities } from 'mediasoup-client/types';

/** mediasoup-client's handlers by the name its own detection gives (detectDeviceAsync). */
const HANDLERS = { Chrome111, Chrome74, Firefox120, Safari12 } as const;

export type DeviceUse = 'receive' | 'sendAndReceive';

/** Loads, or loading, by use and router capabilities: the entry script may start a load that
 *  the media session then takes up (client/main.ts). */
const loads = new Map<string, Promise<Device>>();

/** A loaded Device for this browser (rejects with mediasoup-client's UnsupportedError if there
 *  is none). Asked again for the same, it answers with the same load; a failed one is forgotten. */
export function loadDevice(routerRtpCapabilities: RtpCapabilities, use: DeviceUse): Promise<Device> {
  const key = `${use} ${JSON.stringify(routerRtpCapabilities)}`;
  const known = loads.get(key);
  if (known) return known;
  const loading = (async () => {
    const device = use === 'receive' ? await receiveOnlyDevice() : await Device.factory();
    await device.load({ routerRtpCapabilities });
    return device;
  })();
  loads.set(key, loading);
  loading.catch(() => loads.delete(key));
  return loading;
}

async function receiveOnlyDevice(): Promise<Device> {
  const name = await detectDeviceAsync();
  const handler = name && name in HANDLERS ? HANDLERS[name as keyof typeof HANDLERS].createFactory({}) : null;
  if (!handler) return Device.factory(); // a browser this does not know: the usual full load
  let receiving: ReturnType<HandlerFactory['getNativeRtpCapabilities']> | undefined;
  const receiveOnly: HandlerFactory = {
    name: handler.name,
    factory: handler.factory,
    // Asked for both directions, it answers with what the browser receives: this device's
    // sending capabilities are never used, as nothing is ever sent through it.
    getNativeRtpCapabilities: () => (receiving ??= handler.getNativeRtpCapabilities({ direction: 'recvonly' })),
  };
  return new Device({ handlerFactory: receiveOnly });
}
