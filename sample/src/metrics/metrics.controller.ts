import { Controller, Get, Inject, OnApplicationShutdown, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { SampleMetrics } from './sample-metrics';

/**
 * GET /metrics: the Prometheus text format of the module's metrics (docs/observability.md).
 * It shows counts and sandbox names, never a token or an address; a real deployment still
 * serves it only to its scraper (another port, or a network policy), not to the internet.
 */
@Controller('metrics')
export class MetricsController implements OnApplicationShutdown {
  constructor(@Inject(SampleMetrics) private readonly metrics: SampleMetrics) {}

  @Get()
  scrape(@Req() req: Request, @Res() res: Response): void {
    this.metrics.exporter.getMetricsRequestHandler(req, res);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.metrics.shutdown();
  }
}
