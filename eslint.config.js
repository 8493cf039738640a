import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The layers of src/, lowest first: a folder imports only from the folders
 * before it (docs/ARCHITECTURE.md draws them). `common`, `telemetry`, `core`
 * and `port` sit beneath the protocol layers; `impair` is a tool over ports.
 */
const LAYERS = ['common', 'telemetry', 'core', 'port', 'wire', 'net', 'tls', 'app', 'impair', 'engine', 'run', 'mgmt'];

const layerRules = LAYERS.map((folder, i) => ({
  files: [`src/${folder}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: LAYERS.slice(i + 1).map((above) => ({
          group: [`**/${above}/*`, `**/${above}/**`],
          message: `src/${folder} sits below src/${above}: it may import only from ${LAYERS.slice(0, i).join(', ') || 'nothing in src'}.`,
        })),
      },
    ],
  },
}));

export default tseslint.config(
  { ignores: ['dist/', 'dist-*/', 'build/', 'node_modules/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  ...layerRules,
);
