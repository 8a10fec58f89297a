/**
 * Told of every client request a port served, whatever its protocol: the operation, how it
 * ended ("ok", an error code or HTTP status) and how long it took. The server turns it into
 * kvraft_kv_requests_total and kvraft_kv_request_seconds, labelled by protocol.
 */
export type RequestObserver = (op: string, result: string, seconds: number) => void;
