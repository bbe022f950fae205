/** Image extraction from every pod template holder (RELIABILITY.md 36), on the corpus Pod spec. */
import { UnreadableWorkloadError } from '../../lib/admission/errors';
import { extractImages, podSpecPath } from '../../lib/admission/images';
import { CORPUS_DEPLOYMENT, CORPUS_POD, KINDS, SECTIONS, kind, podSpec } from './fixtures';

describe('extractImages: every kind × every container section', () => {
  const images = { initContainers: 'init.example/i:1', containers: 'main.example/c:1', ephemeralContainers: 'debug.example/e:1' };
  const cases = KINDS.flatMap((k) => SECTIONS.map((s) => ({ name: `${k.name} ${s}`, k, s })));
  it.each(cases)('$name: the image, its JSON pointer and its field path', ({ k, s }) => {
    const found = extractImages(k.gvk, k.build(podSpec(images)))!;
    expect(found.map((i) => i.section)).toEqual([...SECTIONS]);
    const one = found.find((i) => i.section === s)!;
    expect(one).toMatchObject({ image: images[s], path: `${k.specPointer}/${s}/0/image`, index: 0, container: 'nameValue' });
    expect(one.field).toBe(`${k.specPointer.slice(1).replace(/\//g, '.')}.${s}[0].image`);
  });

  it('the corpus objects as they are: imageValue in each of the three sections', () => {
    expect(extractImages(kind('Pod').gvk, CORPUS_POD)!.map((i) => [i.path, i.image])).toEqual([
      ['/spec/initContainers/0/image', 'imageValue'],
      ['/spec/containers/0/image', 'imageValue'],
      ['/spec/ephemeralContainers/0/image', 'imageValue'],
    ]);
    expect(extractImages(kind('Deployment').gvk, CORPUS_DEPLOYMENT)!.map((i) => i.path)).toEqual([
      '/spec/template/spec/initContainers/0/image',
      '/spec/template/spec/containers/0/image',
      '/spec/template/spec/ephemeralContainers/0/image',
    ]);
  });

  it('several containers per section keep their indexes', () => {
    const spec = { containers: [{ name: 'a', image: 'x.example/a:1' }, { name: 'b', image: 'x.example/b:1' }] };
    expect(extractImages(kind('Job').gvk, kind('Job').build(spec))!.map((i) => i.path)).toEqual(['/spec/template/spec/containers/0/image', '/spec/template/spec/containers/1/image']);
  });
});

describe('extractImages: kinds without a pod template and unreadable objects', () => {
  it.each([
    { name: 'Scale (the scale subresource)', gvk: { group: 'autoscaling', version: 'v1', kind: 'Scale' } },
    { name: 'a custom resource', gvk: { group: 'groupValue', version: 'versionValue', kind: 'kindValue' } },
    { name: 'Deployment of another group', gvk: { group: 'example.com', version: 'v1', kind: 'Deployment' } },
    { name: 'ConfigMap', gvk: { group: '', version: 'v1', kind: 'ConfigMap' } },
  ])('$name → undefined', ({ gvk }) => {
    expect(podSpecPath(gvk)).toBeUndefined();
    expect(extractImages(gvk, { spec: { containers: [{ image: 'x' }] } })).toBeUndefined();
  });

  it('every served version of a kind is read at the same place', () => {
    expect(podSpecPath({ group: 'batch', version: 'v1beta1', kind: 'CronJob' })).toEqual(['spec', 'jobTemplate', 'spec', 'template', 'spec']);
  });

  const pod = kind('Pod').gvk;
  it.each([
    { name: 'no object', object: undefined, message: 'the object is not an object' },
    { name: 'no spec', object: { metadata: {} }, message: '/spec is not an object' },
    { name: 'containers not a list', object: { spec: { containers: { image: 'x' } } }, message: '/spec/containers is not a list' },
    { name: 'a container that is a string', object: { spec: { containers: ['nginx'] } }, message: '/spec/containers/0 is not an object' },
    { name: 'a container without image', object: { spec: { containers: [{ name: 'a' }] } }, message: '/spec/containers/0/image is not an image reference' },
    { name: 'an image that is a number', object: { spec: { initContainers: [{ name: 'a', image: 42 }] } }, message: '/spec/initContainers/0/image is not an image reference' },
    { name: 'an empty image', object: { spec: { ephemeralContainers: [{ name: 'a', image: ' ' }] } }, message: '/spec/ephemeralContainers/0/image is not an image reference' },
  ])('$name → UnreadableWorkloadError', ({ object, message }) => {
    expect(() => extractImages(pod, object)).toThrow(UnreadableWorkloadError);
    expect(() => extractImages(pod, object)).toThrow(message);
  });

  it('a CronJob without jobTemplate is unreadable', () => {
    expect(() => extractImages(kind('CronJob').gvk, { spec: { schedule: '* * * * *' } })).toThrow('/spec/jobTemplate is not an object');
  });

  it('sections that are absent or null are no images', () => {
    expect(extractImages(pod, { spec: { containers: [{ image: 'a.example/x:1' }], initContainers: null } })!.map((i) => i.image)).toEqual(['a.example/x:1']);
  });
});
