#!/usr/bin/env node
// Entry point of the `vaigai` command: runs the compiled CLI.
import '../dist/src/main.js';
