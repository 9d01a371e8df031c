// npm `ws` (7.5.10) as a strict remote management server for the board: `ws` closes any client
// frame that is not masked with 1002 ("MASK must be set"). Plays a short session: answers the
// hello, PINGs, sends SAMPLE_JSON (a sample request) once the PONG came back, closes with 1000
// after sampleFinished or sample:false.
//
// usage: node ws_strict_server.js SAMPLE_JSON   (prints {"port": N}, then one line per event)
'use strict';
const WebSocket = require('ws');

const sample = JSON.parse(process.argv[2]);
const say = (event, extra) => console.log(JSON.stringify(Object.assign({ event }, extra || {})));
const server = new WebSocket.Server({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
server.on('listening', () => console.log(JSON.stringify({ port: server.address().port })));
server.on('connection', (ws) => {
    say('connection');
    ws.on('error', (e) => say('error', { error: e.message, code: e.code }));
    ws.on('close', (code) => { say('close', { code }); server.close(); });
    ws.on('pong', (data) => { say('pong', { data: data.toString() }); ws.send(JSON.stringify(sample)); });
    ws.on('message', (data) => {
        const msg = JSON.parse(data.toString());
        say('message', { msg });
        if (msg.hello) {
            ws.send(JSON.stringify({ hello: true }));
            ws.ping('strict');
        }
        if (msg.sampleFinished || msg.sample === false) {
            ws.close(1000);
        }
    });
});
