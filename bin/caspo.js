#!/usr/bin/env node
'use strict';
const path = require('node:path');
const fs = require('node:fs');

const bundle = path.join(__dirname, '..', 'dist', 'cli.js');
if (!fs.existsSync(bundle)) {
  process.stderr.write('caspo: dist/cli.js is missing. Run `npm install` (it builds) or `npm run build` first.\n');
  process.exit(2);
}
require(bundle);
