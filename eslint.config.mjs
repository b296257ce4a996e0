// Lint rules shared by every workspace. Boundary rules mirror STYLE.md: kafkajs only in
// packages/kafka; packages/domain imports nothing else of ours.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/coverage/**', '**/*.js', '**/*.mjs', '**/*.cjs', 'bench/.work/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'kafkajs', message: 'Only packages/kafka may import kafkajs.' }],
          patterns: [{ group: ['@safeguard/*/src/*', '../../packages/*', '../../../packages/*'], message: "Import through the package's exports map." }],
        },
      ],
    },
  },
  {
    files: ['packages/kafka/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['packages/domain/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['@safeguard/*', 'kafkajs', 'sharp', 'pino', 'prom-client'], message: 'domain imports nothing else of ours and no infrastructure.' }] },
      ],
    },
  },
);
