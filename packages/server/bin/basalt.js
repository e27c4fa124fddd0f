#!/usr/bin/env node
// The `basalt` command: runs the compiled CLI (build it with `npm run build` in a clone).
import "../dist/cli/main.js";
