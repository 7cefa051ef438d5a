import { crc32 } from 'node:zlib';

/** The same picture with a tEXt chunk before IEND: other bytes, so another hash and a fresh verdict. */
export function pngWithComment(png: Buffer, comment: string): Buffer {
  const data = Buffer.concat([Buffer.from('tEXt'), Buffer.from(`Comment\0${comment}`, 'latin1')]);
  const chunk = Buffer.alloc(data.length + 8);
  chunk.writeUInt32BE(data.length - 4, 0);
  data.copy(chunk, 4);
  chunk.writeUInt32BE(crc32(data) >>> 0, data.length + 4);
  const iend = png.length - 12;
  return Buffer.concat([png.subarray(0, iend), chunk, png.subarray(iend)]);
}
