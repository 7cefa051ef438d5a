import type { PGlite } from '@electric-sql/pglite';
import { parse, protocol } from '@electric-sql/pglite';
import { isStale } from './stale-statement.js';

type Message = Awaited<ReturnType<PGlite['execProtocolStream']>>[number];

interface Prepared {
  name: string;
  paramTypes: number[];
  /** The statement's row description, sent before each call's rows so PGlite's own parser reads them. */
  rowDescription: Message[];
}


/**
 * Named prepared statements on PGlite. `client.query()` sends Parse, Describe, Bind, Describe, Execute
 * and Sync as six calls into WebAssembly and plans the text anew every time; a prepared statement is
 * parsed once per instance and each call is one Bind, Execute, Sync. Named `embedded_hot_N`: a CLI on
 * the shared socket runs on this same backend with the pg pool's `hot_N`, and the names must not meet.
 * Values are serialised and rows parsed with PGlite's own converters, so rows equal `query()`'s.
 * Returns undefined for a text beyond the bound (the caller runs it unnamed).
 */
export function preparedRunner(client: PGlite, limit = 64) {
  const statements = new Map<string, Prepared>();
  const names = new Map<string, string>();

  const run = async (message: Uint8Array, text: string, params: unknown[]): Promise<Message[]> => {
    try {
      return await client.execProtocolStream(message, {});
    } catch (error) {
      // Like query(): the error says which statement failed.
      Object.assign(error as object, { query: text, params });
      throw error;
    }
  };

  const prepare = async (text: string, name: string): Promise<Prepared> => {
    const { serialize } = protocol;
    const messages = await run(Buffer.concat([serialize.parse({ name, text }), serialize.describe({ type: 'S', name }), serialize.sync()]), text, []);
    let paramTypes: number[] = [];
    const rowDescription: Message[] = [];
    for (const message of messages) {
      if (message.name === 'parameterDescription') paramTypes = (message as InstanceType<typeof protocol.messages.ParameterDescriptionMessage>).dataTypeIDs;
      if (message.name === 'rowDescription') rowDescription.push(message);
    }
    const prepared = { name, paramTypes, rowDescription };
    statements.set(text, prepared);
    return prepared;
  };

  const execute = async (prepared: Prepared, text: string, params: unknown[]): Promise<unknown[]> => {
    const { serialize } = protocol;
    const values = params.map((param, i) => {
      if (param === null || param === undefined) return null;
      const serializer = client.serializers[prepared.paramTypes[i]!];
      return serializer ? (serializer(param) as string) : String(param);
    });
    const messages = await run(Buffer.concat([serialize.bind({ statement: prepared.name, values }), serialize.execute(), serialize.sync()]), text, params);
    return parse.parseResults([...prepared.rowDescription, ...messages], client.parsers)[0]!.rows;
  };

  const forget = async (text: string, name: string) => {
    statements.delete(text);
    await client.execProtocolStream(Buffer.concat([protocol.serialize.close({ type: 'S', name }), protocol.serialize.sync()]), { throwOnError: false });
  };

  return (text: string, params: unknown[]): Promise<unknown[]> | undefined => {
    let name = names.get(text);
    if (!name && names.size < limit) names.set(text, (name = `embedded_hot_${names.size + 1}`));
    if (!name) return undefined;
    const statementName = name;
    // PGlite's query mutex, as query() and exec() take it: one statement in WebAssembly at a time.
    return client.runExclusive(async () => {
      if (client.closed) throw new Error('PGlite is closed');
      const known = statements.get(text);
      try {
        return await execute(known ?? (await prepare(text, statementName)), text, params);
      } catch (error) {
        if (!known || !isStale(error)) throw error;
        await forget(text, statementName);
        // Inside a transaction the failure aborted it: the caller must see it; the next call prepares anew.
        if (client.isInTransaction()) throw error;
        return execute(await prepare(text, statementName), text, params);
      }
    });
  };
}
