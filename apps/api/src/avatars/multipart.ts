import busboy from "busboy";
import type { FileUpload } from "@wxauth/contracts";
import type { Request } from "express";
import { AppError } from "../errors.js";

/** Fields wx.uploadFile may add through `formData`; they are read and ignored. */
const MAX_FIELDS = 8;

/**
 * Reads the one file of a multipart/form-data body, as `upload` describes it. Busboy truncates the
 * file just past `upload.maxBytes`, so no more than that is ever held in memory: the request is then
 * answered 413 at once and the rest of the body is discarded as it arrives.
 */
export function readUploadedFile(
  req: Request,
  upload: FileUpload,
): Promise<Uint8Array<ArrayBuffer>> {
  const expected = `Expected ${upload.contentType} with one file in the \`${upload.field}\` field.`;
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: req.headers,
      limits: {
        files: 1,
        // Busboy reports the limit on reaching it, not on passing it: one byte more tells "over".
        fileSize: upload.maxBytes + 1,
        fields: MAX_FIELDS,
        fieldSize: 1024,
        parts: MAX_FIELDS + 1,
        headerPairs: 16,
      },
    });
  } catch {
    // Not multipart, or no boundary.
    return Promise.reject(new AppError("VALIDATION_FAILED", expected));
  }

  return new Promise<Uint8Array<ArrayBuffer>>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let fileSeen = false;
    let settled = false;

    const fail = (error: AppError) => {
      if (settled) return;
      settled = true;
      req.unpipe(parser);
      // Node discards what is left of the body once the error response has been sent.
      reject(error);
    };

    parser.on("file", (name, stream) => {
      if (name !== upload.field) {
        stream.resume();
        fail(new AppError("VALIDATION_FAILED", expected));
        return;
      }
      fileSeen = true;
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("limit", () =>
        fail(
          new AppError("PAYLOAD_TOO_LARGE", `The file is larger than ${upload.maxBytes} bytes.`),
        ),
      );
    });
    parser.on("filesLimit", () => fail(new AppError("VALIDATION_FAILED", expected)));
    parser.on("fieldsLimit", () => fail(new AppError("PAYLOAD_TOO_LARGE")));
    parser.on("partsLimit", () => fail(new AppError("PAYLOAD_TOO_LARGE")));
    parser.on("error", () =>
      fail(new AppError("VALIDATION_FAILED", "The multipart body could not be read.")),
    );
    parser.on("close", () => {
      if (!fileSeen) fail(new AppError("VALIDATION_FAILED", expected));
      if (settled) return;
      settled = true;
      resolve(Buffer.concat(chunks));
    });
    // A client that goes away mid-upload must not leave the request waiting forever.
    req.on("close", () => {
      if (!req.complete) fail(new AppError("VALIDATION_FAILED", "The upload was interrupted."));
    });
    req.pipe(parser);
  });
}
