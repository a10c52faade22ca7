// Preloaded (node --require) into reference servers that listen on every interface: the tests'
// servers bind 127.0.0.1 only. `listen(port[, cb])` becomes `listen(port, '127.0.0.1'[, cb])`.
const net = require('net');
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if ((typeof args[0] === 'number' || /^\d+$/.test(String(args[0]))) && typeof args[1] !== 'string') {
    args.splice(1, 0, '127.0.0.1');
  }
  return listen.apply(this, args);
};
