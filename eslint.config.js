// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.bench/', '.preflight-test/'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', 'bin/*.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/consistent-type-assertions': ['error', { assertionStyle: 'never' }],
      'no-empty': ['error', { allowEmptyCatch: false }],
      // @kubernetes/client-node declares its models (V1Secret, …) as classes that exist only for its
      // serializer; it documents and accepts plain objects, which is how every caller builds them.
      '@typescript-eslint/no-unsafe-class-instance-assignment': 'off',
    },
  },
  {
    // Checks are plugins: they see only the public API, never node:fs, process or an SDK.
    files: ['checks/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!\\.\\./src/plugin\\.ts$|\\./|node:path$|yaml$).*',
              message: 'checks import only ../src/plugin.ts, sibling files, node:path and yaml',
            },
          ],
        },
      ],
      'no-restricted-globals': ['error', 'process', 'console'],
    },
  },
  {
    // Only src/output prints, only src/cli exits.
    files: ['src/**/*.ts', 'checks/**/*.ts'],
    ignores: ['src/output/**', 'src/cli.ts'],
    rules: {
      'no-console': 'error',
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'exit', message: 'only src/cli.ts exits' },
        { object: 'process', property: 'stdout', message: 'only src/output prints' },
        { object: 'process', property: 'stderr', message: 'only src/output prints' },
      ],
    },
  },
  {
    // Tests assert on terminal bytes (escape codes) and use expect() in arrow shorthands.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-confusing-void-expression': 'off',
      'no-control-regex': 'off',
    },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: { process: 'readonly', AbortController: 'readonly', URL: 'readonly' } },
  },
);
