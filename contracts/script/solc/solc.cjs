'use strict';
// Native-solc command line over solcjs, for the two calls forge makes:
//   solc --version
//   solc [--allow-paths A,B] [--base-path ROOT] [--include-path P]... --standard-json  (input on stdin)
// Imports resolve against the base path, then each include path, as native solc does.
const fs = require('fs');
const path = require('path');

const solc = require(path.join(__dirname, '..', '..', 'node_modules', 'solc'));

function parseArgs(argv) {
  const opts = { basePath: process.cwd(), includePaths: [], allowPaths: [], standardJson: false, version: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.includes('=') ? arg.split(/=(.*)/s, 2) : [arg, undefined];
    const value = () => (inline !== undefined ? inline : argv[++i]);
    switch (flag) {
      case '--version': opts.version = true; break;
      case '--standard-json': opts.standardJson = true; break;
      case '--base-path': opts.basePath = value(); break;
      case '--include-path': opts.includePaths.push(value()); break;
      case '--allow-paths': opts.allowPaths.push(...value().split(',')); break;
      default:
        process.stderr.write(`solc wrapper: unsupported argument ${arg}\n`);
        process.exit(2);
    }
  }
  return opts;
}

// Exit only once stdout has drained: exiting straight after a large write truncates it.
function finish(text, code) {
  process.stdout.write(text, () => process.exit(code));
}

const opts = parseArgs(process.argv.slice(2));

if (opts.version) {
  finish(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`, 0);
} else if (opts.standardJson) {
  const roots = [opts.basePath, ...opts.includePaths].map((p) => path.resolve(p));
  const findImports = (importPath) => {
    const candidates = path.isAbsolute(importPath) ? [importPath] : roots.map((r) => path.join(r, importPath));
    for (const candidate of candidates) {
      if (fs.existsSync(candidate)) return { contents: fs.readFileSync(candidate, 'utf8') };
    }
    return { error: `File not found: ${importPath} (searched ${roots.join(', ')})` };
  };
  const input = fs.readFileSync(0, 'utf8');
  finish(solc.compile(input, { import: findImports }), 0);
} else {
  process.stderr.write('solc wrapper: only --version and --standard-json are supported\n');
  process.exit(2);
}
