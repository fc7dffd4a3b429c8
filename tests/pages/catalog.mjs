// The catalog of the test shop tab (tests/pages/tab.html), also the catalog the server test
// seeds its simulated shoppers with (tests/server.test.mjs).
export const TAB_CATALOG = Array.from({ length: 50 }, (_, i) => ({
  id: `p${i}`,
  title: `Product ${i} ${["mug", "cup", "lamp", "sofa", "kite"][i % 5]}`,
}));
