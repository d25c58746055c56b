#!/usr/bin/env node
import { runCommand } from './cli.js';
import { processIo } from './io.js';

process.exitCode = await runCommand(process.argv.slice(2), processIo());
