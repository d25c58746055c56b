#!/usr/bin/env node
import { runCommand } from './cli.js';
import { applyColourPreference, processIo } from './io.js';

applyColourPreference(process.env);
process.exitCode = await runCommand(process.argv.slice(2), processIo());
