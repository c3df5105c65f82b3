import type { Command } from 'commander';

export function registerOpenapi(program: Command): void {
  program
    .command('openapi')
    .description('print the OpenAPI 3.1 document of `serve`, generated from the request shapes (docs/openapi.json is this)')
    .action(async () => {
      const { openApiDocument } = await import('../server/openapi.js');
      process.stdout.write(JSON.stringify(openApiDocument(), null, 2) + '\n');
    });
}
