// The official device side of remote management, as a test peer: edge-impulse-linux@1.25.2's
// RemoteMgmt and LinuxDevice (its fake camera), with a small stub for the Studio REST calls
// that RemoteMgmt makes through its `api` object (protocol notes, section 7).
//
// usage: node linux_peer.js WS_URL INGESTION_URL API_KEY HMAC_KEY JPG
// Prints one JSON line per event ({"event": ...}); runs until killed or the hello is refused.
'use strict';
const path = require('path');

// sharp (a native module, installed without its binary) only resizes snapshot-stream frames,
// which these tests never start: give LinuxDevice a stand-in before it is loaded.
const sharpPath = require.resolve('sharp');
require.cache[sharpPath] = { id: sharpPath, filename: sharpPath, loaded: true,
    exports: () => { throw new Error('sharp is not available in the test peer'); } };

const WebSocket = require('ws');
const base = path.dirname(require.resolve('edge-impulse-linux/package.json'));
const { RemoteMgmt } = require(path.join(base, 'build/cli-common/remote-mgmt-service'));
const { LinuxDevice } = require(path.join(base, 'build/cli/linux/linux-device'));
const { FakeCamera } = require(path.join(base, 'build/library/sensors/fake-camera'));

const [wsUrl, ingestion, apiKey, hmacKey, jpg] = process.argv.slice(2);
const say = (event, extra) => console.log(JSON.stringify(Object.assign({ event }, extra || {})));

const api = {
    projects: {
        getProjectInfo: async () => ({ success: true, project: { name: 'local', whitelabelId: null } }),
    },
    devices: {
        createDevice: async (projectId, opts) => { say('createDevice', opts); return { success: true }; },
        getDevice: async (projectId, deviceId) => ({ success: true, device: { name: deviceId } }),
        renameDevice: async () => ({ success: true }),
    },
    whitelabels: { getWhitelabelDomain: async () => ({ success: true }) },
};
const config = {
    command: 'edge-impulse-linux',
    endpoints: { internal: { ws: wsUrl, api: 'http://127.0.0.1:9/v1', ingestion } },
    api,
};

(async () => {
    const camera = new FakeCamera({ imagePath: jpg });
    await camera.init();
    await camera.start({ device: 'fake', intervalMs: 200, dimensions: { width: 320, height: 240 } });
    const device = new LinuxDevice(config, 1, { apiKey, hmacKey }, true, false, false, undefined);
    device.registerCameraSnapshotHandler(camera);
    const remote = new RemoteMgmt(1, { apiKey, hmacKey }, config, device, undefined,
        (url) => new WebSocket(url), async (name) => name);
    remote.on('authenticationFailed', () => { say('authenticationFailed'); process.exit(3); });
    say('start', { deviceId: await device.getDeviceId() });
    await remote.connect();
})().catch((e) => { say('error', { error: String(e) }); process.exit(2); });
