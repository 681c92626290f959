// Folds a small order of battle with the map's own declutter.js (given as the argument)
// at several zooms and prints what is drawn, as JSON, for tests/web/test_declutter.py.
const { declutter, echelonOf } = await import(process.argv[2]);

const unit = (id, subject, parent, sidc, lon, lat) => ({
  type: "Feature",
  geometry: { type: "Point", coordinates: [lon, lat] },
  properties: { id, subject, parent, sidc, identity: "friend", status: "confirmed", name: null },
});
const features = [
  unit("hq", "BN-1", "BDE-1", "10031002161211000000", 16.0, 53.0),
  unit("a", "A", "BN-1", "10031000151211000000", 16.1, 53.1),
  unit("b", "B", "BN-1", "10031000151205000000", 16.3, 53.1),
  unit("c", "C", "BN-2", "10031000151205000000", 17.0, 54.0),
  unit("lone", "LONE", null, "10031000151205000000", 18.0, 54.0),
  unit("hostile-marker", "M", "A", "10061500001201000000", 16.5, 53.5),
];
const summary = (zoom) => {
  const { own, formations } = declutter(features, zoom);
  return {
    own: own.map((f) => f.properties.id).sort(),
    formations: formations
      .map((f) => ({
        formation: f.properties.formation,
        count: f.properties.count,
        sidc: f.properties.sidc,
        members: f.properties.members.split(" ").sort(),
        at: f.geometry.coordinates.map((v) => Math.round(v * 1000) / 1000),
      }))
      .sort((x, y) => x.formation.localeCompare(y.formation)),
  };
};
console.log(
  JSON.stringify({
    echelons: ["10031000151211000000", "10061500001201000000", "1003"].map(echelonOf),
    zooms: Object.fromEntries([12, 9, 7, 6].map((zoom) => [zoom, summary(zoom)])),
  }),
);
