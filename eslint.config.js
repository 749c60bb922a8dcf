// ESLint (flat config): typescript-eslint's recommended rules on the TypeScript sources; formatting is Prettier's.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', '.capacity/', 'results/', 'dist/', 'k6x/', 'scenarios/lib/generated/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: 'module' },
    rules: {
      // `_name` marks what is left out on purpose (destructuring a field away, an unused callback argument)
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      'no-duplicate-imports': 'error',
      // XML and input checks match control characters on purpose
      'no-control-regex': 'off',
    },
  },
  {
    // tests read YAML and JSON of any shape back to check it
    files: ['**/*.test.ts', 'test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // k6 scripts get k6's types from @types/k6 this way (k6 resolves no type imports)
    files: ['scenarios/**/*.ts', 'bench/k6/**/*.ts', 'test/integration/k6/**/*.ts'],
    rules: { '@typescript-eslint/triple-slash-reference': 'off' },
  },
  prettier,
);
