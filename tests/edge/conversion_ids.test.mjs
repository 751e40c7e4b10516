// The Google Analytics ids the edge records with a session, from the page
// request's cookies; and clickid among the parameters mapped to tags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyticsTags } from '../../edge/conversion_ids.mjs';
import { tagsFromView, pageView } from '../../edge/site_rules.mjs';

test('client id from _ga, session id from _ga_<container> (both formats)', () => {
  assert.deepEqual(analyticsTags({ _ga: 'GA1.1.123456789.1700000000', _ga_ABC123: 'GS1.1.1700000500.3.1.1700000600.0.0.0' }),
    { ga_client_id: '123456789.1700000000', ga_session_id: '1700000500' });
  assert.deepEqual(analyticsTags({ _ga: 'GA1.2.42.7', _ga_Z9: 'GS2.1.s1712345678$o3$g1$t1712345999$j0$l0$h0' }),
    { ga_client_id: '42.7', ga_session_id: '1712345678' });
  // Several properties: the first container by name.
  assert.equal(analyticsTags({ _ga_B: 'GS1.1.2.1.1.2.0.0.0', _ga_A: 'GS1.1.1.1.1.2.0.0.0' }).ga_session_id, '1');
});

test('malformed or missing cookies give nothing', () => {
  assert.deepEqual(analyticsTags({}), {});
  assert.deepEqual(analyticsTags(undefined), {});
  assert.deepEqual(analyticsTags({ _ga: 'nope', _ga_X: 'GS1.1.x' }), {});
  assert.deepEqual(analyticsTags({ _ga: 'GA1.1.123<script>.1', '_ga_ A': 'GS1.1.5.1' }), {});
});

test('click ids of the landing URL become tags, clickid included', () => {
  const view = pageView('https://shop.example/?gclid=G1&wbraid=W1&clickid=aff-9&utm_source=x', '');
  const tags = tagsFromView(view, {}, {});
  assert.equal(tags.gclid, 'G1');
  assert.equal(tags.wbraid, 'W1');
  assert.equal(tags.clickid, 'aff-9');
});
