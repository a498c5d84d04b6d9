// Draws the economy dashboard's charts from the JSON the page embeds (no network calls).
(function () {
  const data = JSON.parse(document.getElementById("economy-data").textContent);
  const labels = data.days.map((row) => row.day);
  const chart = (id, type, datasets) =>
    new Chart(document.getElementById(id), {
      type,
      data: { labels, datasets },
      options: { responsive: true, animation: false, scales: { y: { beginAtZero: true } } },
    });
  chart("gold-chart", "bar", [
    { label: "minted", data: data.days.map((row) => row.minted) },
    { label: "burned", data: data.days.map((row) => row.burned) },
  ]);
  chart("revenue-chart", "bar", [
    { label: "sales (minor units)", data: data.days.map((row) => row.sales_cents) },
    // A refund or chargeback counts on the day it happened, as a negative: past days never change.
    { label: "refunds (minor units)", data: data.days.map((row) => -row.refunds_cents) },
    { label: "net revenue (minor units)", data: data.days.map((row) => row.revenue_cents) },
  ]);
  chart("players-chart", "line", [
    { label: "active players", data: data.days.map((row) => row.active_players) },
  ]);
})();
