// Decoding and ffmpeg tests do real work; on a loaded shared machine they can take seconds.
module.exports = { ...require('../../jest.preset.js'), testTimeout: 60_000 };
