// package.json "main": the Electron entry (the composition root).
import './electron/main.js';
