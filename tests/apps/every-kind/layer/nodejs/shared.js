module.exports = {shared: true};
