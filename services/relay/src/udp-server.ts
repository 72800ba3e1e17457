// The UDP socket: binds it, logs the receive buffer granted, hands each datagram on.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Logger } from 'pino';

export interface UdpServerOptions {
  host: string;
  port: number;
  rcvbufBytes: number;
  logger: Logger;
  onDatagram: (bytes: Buffer, rinfo: RemoteInfo) => void;
}

/**
 * The usable receive buffer, in bytes, from what getRecvBufferSize reports. Linux caps the
 * request at net.core.rmem_max and then reports double (half is kernel bookkeeping), so the
 * usable size is half of it. That size is how long an event-loop stall the socket absorbs
 * before the kernel drops datagrams.
 */
export function grantedRcvbuf(reportedBytes: number, platform: NodeJS.Platform): number {
  return platform === 'linux' ? Math.floor(reportedBytes / 2) : reportedBytes;
}

/**
 * The UDP intake. The handler is synchronous by contract: nothing is awaited per datagram,
 * because while the event loop waits the kernel buffer fills and the kernel drops silently.
 */
export class UdpServer {
  private socket: Socket | undefined;
  private bound = false;
  private closing: Promise<void> | undefined;

  constructor(private readonly opts: UdpServerOptions) {}

  async start(): Promise<{ address: string; port: number; rcvbufBytes: number }> {
    const { host, port, rcvbufBytes, logger } = this.opts;
    const socket = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4', recvBufferSize: rcvbufBytes });
    this.socket = socket;
    socket.on('message', this.opts.onDatagram);
    socket.on('error', (err) => logger.error({ err }, 'UDP socket error'));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: host, port }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    this.bound = true;
    const addr = socket.address();
    const granted = grantedRcvbuf(socket.getRecvBufferSize(), process.platform);
    const log = {
      address: addr.address,
      port: addr.port,
      requestedRcvbuf: rcvbufBytes,
      grantedRcvbuf: granted,
    };
    if (granted < rcvbufBytes) {
      logger.warn(log, 'kernel granted a smaller UDP receive buffer than requested; raise net.core.rmem_max');
    } else {
      logger.info(log, 'UDP intake bound');
    }
    return { address: addr.address, port: addr.port, rcvbufBytes: granted };
  }

  isHealthy(): boolean {
    return this.bound;
  }

  /** Idempotent. */
  stop(): Promise<void> {
    const socket = this.socket;
    if (socket === undefined) return Promise.resolve();
    this.closing ??= new Promise<void>((resolve) => {
      this.bound = false;
      socket.off('message', this.opts.onDatagram);
      try {
        socket.close(() => resolve());
      } catch {
        resolve(); // already closed
      }
    });
    return this.closing;
  }
}
