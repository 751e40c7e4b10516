// Draws the booking slots after load, as a single-page app would: the
// phone number in them is never in the HTML the edge rewrote.
(function () {
  var days = ['Today', 'Tomorrow', 'Saturday'];
  var box = document.getElementById('slots');
  setTimeout(function () {
    box.textContent = '';
    days.forEach(function (day, i) {
      var card = document.createElement('div');
      card.className = 'card';
      var h = document.createElement('h2');
      h.textContent = day;
      var p = document.createElement('p');
      p.textContent = (8 + i * 2) + ':00 – ' + (10 + i * 2) + ':00 free. Prefer to talk? ';
      var a = document.createElement('a');
      a.href = 'tel:+18005551234';
      a.className = 'js-phone';
      a.textContent = '(800) 555-1234';
      p.appendChild(a);
      card.appendChild(h);
      card.appendChild(p);
      box.appendChild(card);
    });
  }, 150);
})();
