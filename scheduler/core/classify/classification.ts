// The classification stage of a request's way through (architecture §2 step 2): shape, output-length prediction and
// the SLO it is held to, from one configured classifier and one predictor.
import { asParams, onlyKeys } from '../config/params.js';
import type { Classification, OutputLengthPredictor, ScheduleRequest, Shape, ShapeClassifier, Slo } from '../types.js';
import { OUTPUT_PREDICTORS, SHAPE_CLASSIFIERS, makePlugin } from './registry.js';
import { readSloTable } from './slo.js';

export interface ClassificationStage {
  readonly classifier: ShapeClassifier;
  readonly predictor: OutputLengthPredictor;
  readonly slos: Readonly<Record<Shape, Slo>>;
  classify(req: ScheduleRequest): Classification;
  /** A request finished normally (not cancelled, not rejected) with this many output tokens. */
  observeFinished(req: ScheduleRequest, shape: Shape, outputTokens: number): void;
}

/**
 * params: `{classifier: {name, params}, predictor: {name, params}, slo: {<shape>: {ttftS, tpotS}}}`, every part
 * optional (defaults: shape-rules, streaming-quantiles, architecture §3 SLOs). path names the block in errors.
 */
export function makeClassification(params: unknown, path = 'classification'): ClassificationStage {
  const p = asParams(params, path);
  onlyKeys(p, path, ['classifier', 'predictor', 'slo']);
  const classifier = makePlugin(p.classifier, `${path}.classifier`, SHAPE_CLASSIFIERS, 'shape-rules');
  const predictor = makePlugin(p.predictor, `${path}.predictor`, OUTPUT_PREDICTORS, 'streaming-quantiles');
  const slos = readSloTable(p.slo, `${path}.slo`);
  return {
    classifier,
    predictor,
    slos,
    classify(req: ScheduleRequest): Classification {
      const { shape, reason } = classifier.classify(req);
      return { shape, reason, output: predictor.predict(req, shape), slo: req.slo ?? slos[shape] };
    },
    observeFinished(req: ScheduleRequest, shape: Shape, outputTokens: number): void {
      predictor.observe(req, shape, outputTokens);
    },
  };
}
