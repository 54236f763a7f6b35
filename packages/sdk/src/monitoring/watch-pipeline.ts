import { E11Error, ErrorCode, fromGrpcError, parseDocument, pipelineDocSchema, type Store } from '@e11/core';
import { findPipeline, type PipelineInfo, toPipelineInfo } from '@e11/core/engine';
import { Observable } from 'rxjs';

/**
 * Live snapshots of one pipeline from a Firestore real-time listener on its document: one per change
 * (stage started, stage ended, pipeline ended, event published). Completes after the snapshot in which
 * it has ended and its event is published. Errors with `E11_UNKNOWN_PIPELINE` when it does not exist or
 * belongs to another tenant than the store's (checked before the listener attaches). Unsubscribing
 * detaches the listener.
 */
export function watchPipeline(store: Store, pipelineId: string): Observable<PipelineInfo> {
  return new Observable<PipelineInfo>((subscriber) => {
    let detach: (() => void) | undefined;
    let closed = false;
    findPipeline(store, pipelineId).then(
      (found) => {
        if (closed) return;
        if (!found) {
          subscriber.error(
            new E11Error(ErrorCode.UnknownPipeline, `No pipeline ${pipelineId}.`, {
              context: { pipelineId },
            }),
          );
          return;
        }
        detach = store.collections.pipeline(pipelineId).onSnapshot(
          (snapshot) => {
            const doc = snapshot.exists
              ? toPipelineInfo(parseDocument(pipelineDocSchema, snapshot))
              : undefined;
            if (!doc) {
              subscriber.error(
                new E11Error(ErrorCode.UnknownPipeline, `Pipeline ${pipelineId} was deleted.`, {
                  context: { pipelineId },
                }),
              );
              return;
            }
            subscriber.next(doc);
            if (doc.status !== 'InProgress' && doc.event?.published === true) subscriber.complete();
          },
          (error) => subscriber.error(fromGrpcError(error, ErrorCode.Unavailable, 'Watching the pipeline')),
        );
      },
      (error: unknown) => subscriber.error(error),
    );
    return () => {
      closed = true;
      detach?.();
    };
  });
}
